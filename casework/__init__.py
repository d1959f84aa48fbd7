"""casework: event-sourced case approval workflows for a city trade-union federation."""
