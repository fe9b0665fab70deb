"""Demo data for `make run` and the tests: agencies, accounts, a catalog, dossiers, feedback.
Refused outside DJANGO_ENV dev and test by the seed commands."""
