"""Customer insight (客户画像): profiles, tags, segments and predictions from members' sales."""
