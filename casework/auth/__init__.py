"""Who is acting: passwords, browser sessions, API tokens, the sign-in rate limit, a
trusted reverse proxy and OpenID Connect. Every edge resolves the user here and then
from the directory; nothing a client says about who it is counts on its own."""
