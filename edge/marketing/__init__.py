"""Marketing automation (SOP flows, 营销自动化) and members' interest without purchase (浏览未购)."""
