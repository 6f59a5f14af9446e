"""The store's side of the hardware: print jobs, device states, and the live link to the gateway."""
