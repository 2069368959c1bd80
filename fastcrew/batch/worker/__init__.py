"""The worker side of a batch: a process with its own event loop, LLM session and crew
(:mod:`.main`), running rows (:mod:`.runner`) under a budget leased from the supervisor
(:mod:`.budget`). Imports nothing from :mod:`fastcrew.batch.supervisor`."""
