"""Reports served as files (CONTRACT §13): the balance transactions as CSV."""
