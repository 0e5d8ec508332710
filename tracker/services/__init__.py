"""Operations shared by the API, the web pages, the SMS webhook and the jobs.

Services flush; the request, job or command that called them commits once.
"""
