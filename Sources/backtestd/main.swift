print("backtestd: not yet built (issue 6)")
