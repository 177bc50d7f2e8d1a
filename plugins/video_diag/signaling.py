from core.realtime import AuthenticatedNamespace


class VideoNamespace(AuthenticatedNamespace):
    pass
