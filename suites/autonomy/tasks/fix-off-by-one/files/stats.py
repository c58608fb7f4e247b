def mean_of_last(values, n):
    """The mean of the last n values."""
    tail = values[-n - 1:]
    return sum(tail) / n
