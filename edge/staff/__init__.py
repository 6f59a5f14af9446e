"""Staff, paired devices, PIN login, sessions and manager approvals."""
