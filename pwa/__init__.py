"""The scanner PWA: the blueprint serving its shell, manifest and service worker from pwa/static."""
