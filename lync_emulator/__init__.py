"""A stand-in Lync Server 2013 (front end and Edge) speaking WS-Management, PSRP and NTLM."""
