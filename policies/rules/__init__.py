"""The pack's rules, one module per area: PAI, OSS, RAM, NAS and the stack as a whole."""
