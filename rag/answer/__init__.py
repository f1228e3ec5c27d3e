"""Answer composition: extractive answers, citations, abstention, follow-up rewriting."""
