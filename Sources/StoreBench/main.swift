print("store-bench: not yet built (issue 5)")
