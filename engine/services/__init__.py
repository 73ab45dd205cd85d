"""The parts of the service layer, one concern each; :class:`moodmix.engine.service.Service` fronts them.

Every lookup is scoped to the calling user: another user's id is simply "not found". The parts
return ids, storage keys and tokens; addresses (``/api/v1/…``, ``/s/…``, ``/m/…``) are the web
layer's business.
"""
