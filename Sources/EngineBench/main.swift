print("engine bench")
