"""Customer insight: a member who joins, changes status or changes level is queued for the profile refresh.

The incremental refresh looked for members without a profile by reading every member; now every way a member
arrives (registration at the till, another store's member from HQ, an import) queues them in the same
statement, as does a status change (erased or merged at another store) or a new level (the profile shows it).
Triggers rather than listeners, so no path that writes these tables can forget. Members with no profile yet
are queued once here, so none is missed by the upgrade.
"""

SQL = """
INSERT INTO insight_dirty (member_id, marks)
SELECT m.id, 1 FROM member m
WHERE m.status IN ('active', 'inactive') AND NOT EXISTS (SELECT 1 FROM insight_profile p WHERE p.member_id = m.id)
ON CONFLICT (member_id) DO UPDATE SET marks = marks + 1
"""

_QUEUE = "INSERT INTO insight_dirty (member_id) VALUES ({id}) ON CONFLICT (member_id) DO UPDATE SET marks = marks + 1"

# each holds a ';' inside BEGIN … END, which the migration runner splits SQL on: run one by one in after()
TRIGGERS = (
    f"CREATE TRIGGER insight_queue_member_joined AFTER INSERT ON member BEGIN {_QUEUE.format(id='NEW.id')}; END",
    "CREATE TRIGGER insight_queue_member_status AFTER UPDATE OF status ON member "
    f"WHEN OLD.status IS NOT NEW.status BEGIN {_QUEUE.format(id='NEW.id')}; END",
    "CREATE TRIGGER insight_queue_level_given AFTER INSERT ON member_level "
    f"BEGIN {_QUEUE.format(id='NEW.member_id')}; END",
    "CREATE TRIGGER insight_queue_level_changed AFTER UPDATE OF level ON member_level "
    f"WHEN OLD.level IS NOT NEW.level BEGIN {_QUEUE.format(id='NEW.member_id')}; END",
)


def after(connection) -> None:
    for trigger in TRIGGERS:
        connection.execute_sql(trigger)
