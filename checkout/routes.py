from starlette.routing import Route


def checkout_routes() -> list[Route]:
    return []
