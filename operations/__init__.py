"""Operations: the operator's dashboard, the admin site that shows it, and the figures
/metrics reads from the database.

The top layer: it reads every app (through their models and selectors) and no app
imports it. It writes nothing.
"""
