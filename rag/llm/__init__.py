"""Optional generative backends through LangChain, with citation checking."""
