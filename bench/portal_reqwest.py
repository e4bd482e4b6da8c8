"""The portal with its Navexa calls on pyreqwest (bench/reqwest_pool.py) instead of urllib3, for benchmarks only:
`gunicorn bench.portal_reqwest:app`, configured as the portal is (its environment)."""

from bench.reqwest_pool import ReqwestPool
from wsgi import app

_navexa = app.extensions["navexa_portal"].navexa
_navexa.pool = ReqwestPool(_navexa.origin)
