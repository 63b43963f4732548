from notifier.app.cli import main

raise SystemExit(main())
