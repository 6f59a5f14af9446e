"""Customer insight (客户画像): member profiles, the dirty-member queue, tags with their rules, saved segments.

Assigned number m0016 in the session plan; numbered 12 on its own branch because the migration list must be
gapless (renumbered at merge).
"""

SQL = """
-- one row per member, rebuilt from sales by edge.insight: every column the segment builder filters on is indexed
CREATE TABLE insight_profile (
    member_id TEXT PRIMARY KEY,
    level TEXT,
    tickets INTEGER NOT NULL,
    visits INTEGER NOT NULL,
    first_visit TEXT,
    last_visit TEXT,
    monetary INTEGER NOT NULL,
    avg_basket INTEGER NOT NULL,
    usual_interval REAL,
    recency_days INTEGER,
    r_score INTEGER,
    f_score INTEGER,
    m_score INTEGER,
    segment TEXT,
    lifecycle TEXT NOT NULL CHECK (lifecycle IN ('new', 'active', 'at-risk', 'sleeping', 'lost')),
    favourite_categories TEXT NOT NULL DEFAULT '[]',
    preferred_tender TEXT,
    weekday_tickets INTEGER NOT NULL DEFAULT 0,
    weekend_tickets INTEGER NOT NULL DEFAULT 0,
    hours TEXT NOT NULL DEFAULT '{}',
    top_hour INTEGER,
    p_alive REAL,
    p_buy_30d REAL,
    expected_30d REAL,
    next_purchase TEXT,
    as_of TEXT NOT NULL,
    refreshed_at TEXT NOT NULL
);
CREATE INDEX insight_profile_segment ON insight_profile (segment);
CREATE INDEX insight_profile_lifecycle ON insight_profile (lifecycle);
CREATE INDEX insight_profile_level ON insight_profile (level);
CREATE INDEX insight_profile_monetary ON insight_profile (monetary);
CREATE INDEX insight_profile_p_buy ON insight_profile (p_buy_30d);

-- members whose sales, refunds or record changed since the last refresh (filled on the checkout path)
-- marks counts the changes, so a refresh forgets a member only if nothing new came while it ran
CREATE TABLE insight_dirty (
    member_id TEXT PRIMARY KEY,
    marks INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE insight_tag (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    tag_group TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL CHECK (kind IN ('auto', 'manual')),
    created_at TEXT NOT NULL
);

-- "bought `category` at least `min_times` times (tickets) in the last `days` days" gives the rule's tag
CREATE TABLE insight_tag_rule (
    id TEXT PRIMARY KEY,
    tag_id TEXT NOT NULL REFERENCES insight_tag (id),
    category TEXT NOT NULL,
    min_times INTEGER NOT NULL CHECK (min_times >= 1),
    days INTEGER NOT NULL CHECK (days >= 1),
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE insight_member_tag (
    member_id TEXT NOT NULL,
    tag_id TEXT NOT NULL REFERENCES insight_tag (id),
    source TEXT NOT NULL CHECK (source IN ('auto', 'manual')),
    at TEXT NOT NULL,
    PRIMARY KEY (member_id, tag_id, source)
);
CREATE INDEX insight_member_tag_tag ON insight_member_tag (tag_id, member_id);

CREATE TABLE insight_segment (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    criteria TEXT NOT NULL,
    created_by INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)
"""
