"""Use-cases shared by the command line and the console; each takes a session and a clock.

Who owns the transaction: a function that takes a Session never commits; a function that
takes the Store owns its transaction. A session-taking function adds and flushes (to get an
id, to see its own rows, or to turn a lost race into a refusal) and leaves the commit to the
caller that opened the session, so several use-cases can make one transaction and a refusal
after any of them undoes them all.
"""
