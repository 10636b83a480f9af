"""Generated suites for tests and benchmarks."""


def many_cases(cases: int) -> str:
    """A suite of ``cases`` echo cases; every tenth (0, 10, …) fails its assertion."""
    tests = "\n".join(
        f"  - description: case {i}\n    vars: {{word: w{i}}}\n"
        f"    assert: [{{type: icontains, value: {'w' if i % 10 else 'never'}}}]"
        for i in range(cases)
    )
    return f'description: many cases\nprompts: ["Say {{{{word}}}}"]\ntests:\n{tests}\n'
