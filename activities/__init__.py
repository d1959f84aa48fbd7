"""Every side effect of a case workflow: event appends, external checks, payments."""
