"""Multi-device training helpers: HCCL rank tables (rank_table.py) and the few
collective operations the trainer needs outside the train step (collectives.py)."""
