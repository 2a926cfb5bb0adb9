"""The seller's home: what a seller with one or several shops does now."""
