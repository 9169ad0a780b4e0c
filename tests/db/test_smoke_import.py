from copywatch.cli import build_parser


def test_help_lists_every_design_subcommand() -> None:
    text = build_parser().format_help()
    for name in ("catalog", "crawl", "scan", "worker", "beat", "serve", "report", "eval", "train", "demo", "db"):
        assert name in text
