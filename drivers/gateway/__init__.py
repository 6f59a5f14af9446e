"""The gateway process: devices supervised (reopened after hotplug), print jobs worked, a WebSocket link to web."""
