"""The books: double-entry journal entries, accounts and balances derived from postings."""
