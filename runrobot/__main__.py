from runrobot.cli import main

raise SystemExit(main())
