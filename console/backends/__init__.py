"""One module per external system: async httpx clients that return domain objects. No Qt."""

import sys

# httpx and httpcore import optional integrations whenever their packages happen to be
# installed: httpx's command-line client (rich, click, pygments come with developer tools)
# and trio support. The console runs on asyncio and never uses either; importing them
# would add ~0.25 s to start-up. Marking them absent makes both libraries skip them.
for _optional in ("httpx._main", "trio"):
    sys.modules.setdefault(_optional, None)  # type: ignore[arg-type]
