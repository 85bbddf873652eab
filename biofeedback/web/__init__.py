"""The app in the browser (``biofeedback app``): a local web page over the same runner, store and
comparison as the terminal commands.

- :mod:`biofeedback.web.live`: the one live session of the server and its fan-out to the pages
  (a sink of :func:`sessions.live.run_session`, fed through the same JSON-lines writer as ``--jsonl``);
- :mod:`biofeedback.web.security`: loopback Host check, the token and its cookie, Origin checks, CSP;
- :mod:`biofeedback.web.server`: the Starlette application (pages, JSON API, WebSockets);
- ``static/``: the page (plain HTML, CSS and JavaScript; nothing is loaded from elsewhere).

Starlette and uvicorn are imported only here (``biofeedback --help`` never imports this package).
"""
