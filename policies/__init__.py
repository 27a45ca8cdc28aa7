"""The kit's CrossGuard policy pack.

``policies.rules`` holds the rules, ``policies.pack`` the list the pack registers, and
``policies.review`` evaluates that same list offline against a planned stack. Nothing here
imports ``components`` or ``pulumi_alicloud``: the rules read resources the way the analyzer
hands them over, and lean only on the kit's pure modules ``paikit.cors`` and
``paikit.documents``.
"""
