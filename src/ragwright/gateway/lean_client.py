"""`LeanAsyncClient`: an ``httpx.AsyncClient`` whose plain API requests skip the per-request machinery they never use.

Used with :class:`~ragwright.gateway.transport.PooledTransport` by the proxy (``build_proxy``); requests that ask for
anything httpx's own path provides (auth, redirects, params, cookies, json) still take that path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

__all__ = ["LeanAsyncClient"]


class LeanAsyncClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` for API calls whose plain requests go straight to the transport.

    ``build_request`` caches parsed URLs and skips the query, cookie and base-URL merging a JSON POST never needs.
    ``send`` skips the auth flow, redirect following, cookie jar and log record that httpx runs for every request.
    Profiled, those cost about a third of the proxy's Python time per call. A request that uses any of them (auth,
    ``follow_redirects=True``, ``params``, ``cookies``, ``json``, a relative URL) goes through httpx's own path, so
    behaviour only changes where nothing was asked for.

    Example::

        client = LeanAsyncClient(transport=PooledTransport(), timeout=httpx.Timeout(30.0))
        response = await client.send(client.build_request("POST", url, content=body), stream=True)
    """

    def __init__(
        self, *, transport: httpx.AsyncBaseTransport, timeout: httpx.Timeout, max_cached_urls: int = 256
    ) -> None:
        super().__init__(transport=transport, timeout=timeout, follow_redirects=False, trust_env=False)
        self._lean_transport = transport
        self._urls: dict[str, httpx.URL] = {}
        self._max_cached_urls = max_cached_urls
        self._default_headers = list(self.headers.multi_items())
        self._default_timeout = timeout.as_dict()

    def build_request(
        self,
        method: str,
        url: httpx.URL | str,
        *,
        content: Any = None,
        data: Any = None,
        files: Any = None,
        json: Any = None,
        params: Any = None,
        headers: Any = None,
        cookies: Any = None,
        timeout: Any = httpx.USE_CLIENT_DEFAULT,
        extensions: Mapping[str, Any] | None = None,
    ) -> httpx.Request:
        if (
            data is not None
            or files is not None
            or json is not None
            or params is not None
            or cookies is not None
            or not isinstance(url, str)
            or "://" not in url
            or not isinstance(headers, (dict, type(None)))
        ):
            return super().build_request(
                method,
                url,
                content=content,
                data=data,
                files=files,
                json=json,
                params=params,
                headers=headers,
                cookies=cookies,
                timeout=timeout,
                extensions=extensions,
            )
        parsed = self._urls.get(url)
        if parsed is None:
            parsed = httpx.URL(url)
            if len(self._urls) >= self._max_cached_urls:
                self._urls.clear()
            self._urls[url] = parsed
        merged = dict(self._default_headers)
        if headers:
            merged.update(headers)
        ext = dict(extensions or {})
        if "timeout" not in ext:
            if isinstance(timeout, httpx.Timeout):
                ext["timeout"] = timeout.as_dict()
            elif timeout is httpx.USE_CLIENT_DEFAULT:
                ext["timeout"] = self._default_timeout
            else:
                ext["timeout"] = httpx.Timeout(timeout).as_dict()
        return httpx.Request(method, parsed, content=content, headers=merged, extensions=ext)

    async def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        auth: Any = httpx.USE_CLIENT_DEFAULT,
        follow_redirects: Any = httpx.USE_CLIENT_DEFAULT,
    ) -> httpx.Response:
        if self.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        if auth not in (httpx.USE_CLIENT_DEFAULT, None) or follow_redirects is True or self.auth is not None:
            return await super().send(request, stream=stream, auth=auth, follow_redirects=follow_redirects)
        try:
            response = await self._lean_transport.handle_async_request(request)
        except httpx.RequestError as exc:
            exc.request = request  # as httpx does: translate_error reads the request's timeouts
            raise
        response.request = request
        if not stream:
            try:
                await response.aread()
            except BaseException:
                await response.aclose()
                raise
        return response
