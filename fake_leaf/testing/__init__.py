"""What users import for their own tests: the Faker provider (``fake_leaf.testing.faker``).

Importing ``fake_leaf`` alone imports neither faker nor hypothesis; these modules do, on demand.
"""
