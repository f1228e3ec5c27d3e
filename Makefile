# The two commands of the README. Both set up .venv on a fresh machine first.
.PHONY: setup test run serve serve-stop lint bench

setup:
	@bash scripts/bootstrap.sh

test: setup
	@bash scripts/test.sh

run: setup
	@bash scripts/run_app.sh

# The shared stack (docs/deploy.md): Chroma's server, app processes and nginx; Ctrl+C stops it.
serve: setup
	@bash scripts/serve.sh

serve-stop:
	@bash scripts/serve.sh stop

lint: setup
	.venv/bin/ruff check .
