NAME="leaderboard"
DDL: tuple[str, ...] = ()
TABLES: tuple[str, ...] = ()
def update(con, root, batches):
    return []
