"""One namespace per resource family (``client.groups``, ``client.messages``, ...).

Resource methods check their arguments, describe the call and decode the answer; they hold no
HTTP, retry or limiter logic (DESIGN §1): that is the transport's.
"""
