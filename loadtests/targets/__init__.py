"""Load targets: one module per family of wire formats, each registering itself in
`infragap.loadtests.target.TARGETS` on import."""
