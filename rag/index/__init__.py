"""Storage: vector store, keyword index and document registry, kept in agreement."""
