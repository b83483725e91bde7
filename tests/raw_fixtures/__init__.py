"""Writers of tiny raw datasets in each public format (tests of src/data/prepare)."""
