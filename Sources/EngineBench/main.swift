print("engine-bench: not yet built (issue 4)")
