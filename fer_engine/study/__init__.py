"""Studies: grids of ordinary runs compared in one table (`fer study triplet`: loss x miner x distance)."""
