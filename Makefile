# The two commands of the README. Both set up .venv on a fresh machine first.
.PHONY: setup test run lint bench

setup:
	@bash scripts/bootstrap.sh

test: setup
	@bash scripts/test.sh

run: setup
	@bash scripts/run_app.sh

lint: setup
	.venv/bin/ruff check .
