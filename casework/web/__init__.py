"""Server-rendered pages for officers: sign-in, inbox, case page, opening a case."""
