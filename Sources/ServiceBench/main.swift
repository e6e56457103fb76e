print("service-bench: not yet built (issue 6)")
