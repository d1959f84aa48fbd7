"""Demo data: people for every role, relief budgets and sample applications."""
