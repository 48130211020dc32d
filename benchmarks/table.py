"""A plain-text table for the benchmark scripts."""


def show(title, header, rows):
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    line = lambda row: "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))
    print(f"\n{title}\n{line(header)}\n{'  '.join('-' * w for w in widths)}")
    for row in cells[1:]:
        print(line(row))


def markdown(title, header, rows):
    """The same table in Markdown, under a bold title: what a README or an issue carries."""
    lines = [f"**{title}**", "", "| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]) + "\n"
